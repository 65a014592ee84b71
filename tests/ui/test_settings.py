"""The server's settings: whole numbers, sizes with units, one-line refusals."""
import pytest

from lganim.errors import LganimError
from ui.settings import Settings


@pytest.mark.parametrize("raw, size", [("50MB", 50 * 10 ** 6), ("5 GB", 5 * 10 ** 9), ("2GiB", 2 * 2 ** 30),
                                       ("1.5g", 1_500_000_000), ("20000000", 20_000_000), ("8000 kB", 8_000_000),
                                       ("64MiB", 64 * 2 ** 20), ("3000000B", 3_000_000)])
def test_the_disk_cap_takes_bytes_or_a_unit(monkeypatch, raw, size):
    monkeypatch.setenv("LGANIM_DISK_CAP", raw)
    assert Settings.from_env().disk_bytes == size


def test_the_disk_cap_has_a_default_and_refuses_nonsense_in_one_line(monkeypatch):
    monkeypatch.delenv("LGANIM_DISK_CAP", raising=False)
    assert Settings.from_env().disk_bytes == 5 * 10 ** 9
    for raw, message in (("lots", "LGANIM_DISK_CAP must be a size such as 5GB"), ("-5GB", "must be a size"),
                         ("5 XB", "must be a size"), ("100kB", "LGANIM_DISK_CAP must be at least 1 MB")):
        monkeypatch.setenv("LGANIM_DISK_CAP", raw)
        with pytest.raises(LganimError, match=message) as err:
            Settings.from_env()
        assert "\n" not in str(err.value)
