"""Media files through one ffmpeg runner (format whitelist, `file:` inputs, a timeout on every call, one header
parser): reading videos and sound, writing MP4/GIF and muxing sound, and the pictures a UI shows."""
