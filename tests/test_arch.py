"""The architecture registry (namx.arch): every IR type has one entry, found by name and by type."""
import typing

import pytest
from builders import layer_array, wavenet

from namx import arch, loader
from namx.loader import from_json
from namx.model import Net


def test_every_net_type_has_one_architecture():
    types = set(typing.get_args(Net))
    assert {a.net for a in arch.ARCHITECTURES.values()} == types
    assert tuple(arch.ARCHITECTURES) == loader.ARCHITECTURES  # (the spec's list: tests/test_spec_text.py)
    for name, a in arch.ARCHITECTURES.items():
        assert a.name == name and arch.of(object.__new__(a.net)) is a


def test_a_type_outside_the_registry_is_refused():
    with pytest.raises(KeyError):
        arch.of(from_json(wavenet([layer_array()])))  # a Model, not its net
