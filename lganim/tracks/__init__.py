"""Motion tracks (named per-frame channels with units) and what makes them: a tracked driving video, speech audio,
text spoken by espeak-ng, idle motion (blinks, head sway), and the style of a reference video."""
