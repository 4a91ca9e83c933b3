"""The live ARI bed of test_ari_live, shared with the other modules here."""

from tests.integration.ari.test_ari_live import Bed, bed

__all__ = ["Bed", "bed"]
