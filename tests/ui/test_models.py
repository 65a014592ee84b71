"""The models of a server: a request whose domain cannot serve it is refused before anything loads."""

import pytest

from lganim.errors import LganimError
from lganim.request import Request
from tests import FACE_PHOTO
from ui.models import checked_domain

SMILE = "The person is smiling."


def quiet(fraction, text):
    pass


def test_photos_are_refused_before_a_domain_without_an_encoder_loads():
    with pytest.raises(LganimError, match="The dog domain cannot animate photos.*human"):
        checked_domain("dog", Request(prompts=SMILE, image=FACE_PHOTO))
    with pytest.raises(LganimError, match="Unknown domain 'cats'"):
        checked_domain("cats", Request(prompts=SMILE))


