"""Motion sources: one protocol (a request and start codes in, W+ offsets Δw out) and its sources — the paper's
trained recurrent generator, training-free prompt fitting (with the paper's objective), prompt sequences, tracks
driving a face through control directions, predicted futures — and the control directions themselves (SeFa,
calibration, their cache)."""
