"""Entry point for `make bench`; scenarios are added in bench/."""

if __name__ == "__main__":
    raise SystemExit("benchmarks are not written yet")
