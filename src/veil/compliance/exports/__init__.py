"""Export requests (SPEC §4): request, build the encrypted file, download, expire."""
