"""Faces in pictures: detection and the 68 dlib landmarks, the FFHQ alignment, head pose, the channels a face's
landmarks measure, reading photos, and compositing (pasting an animated crop back into its photo, moving it)."""
