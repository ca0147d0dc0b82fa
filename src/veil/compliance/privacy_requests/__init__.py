"""Privacy requests (SPEC §8): every data-subject request, by identity, under a legal clock."""
