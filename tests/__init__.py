"""lganim's tests: one folder per package of the library (and `ui/` for the app), mirroring its modules."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]            # the repository
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FACE_PHOTO = FIXTURES / "faces" / "astronaut.png"      # a real photo with one face (public domain)
