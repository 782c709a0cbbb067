"""The privacy record of a fitted model, in words and as table rows (no dp-accounting import)."""

from __future__ import annotations


def privacy_line(record: dict) -> str:
    """One line: the guarantee and how it was spent."""
    steps = {}
    for rel in record["releases"]:
        steps[rel["name"].split(":")[0]] = steps.get(rel["name"].split(":")[0], 0) + rel["count"]
    spent = ", ".join(f"{name} {n} release{'s' * (n > 1)}" for name, n in steps.items())
    return (f"differentially private: epsilon={record['epsilon']:g} (spent "
            f"{record['epsilon_spent']:.4g} by {record['accountant']}), delta={record['delta']:g}, "
            f"neighbours: {record['neighbours']}; Gaussian mechanism: {spent}")


def privacy_rows(record: dict) -> list[dict]:
    """One row per release: name, count, sensitivity, noise multiplier, sigma, share."""
    return [{k: rel[k] for k in ("name", "count", "sensitivity", "noise_multiplier", "sigma", "share")}
            for rel in record["releases"]]
