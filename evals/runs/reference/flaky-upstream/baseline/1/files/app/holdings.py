"""Holdings per user. In production this comes from the ledger; a fixed table is enough for this service's tests."""

HOLDINGS: dict[str, dict[str, int]] = {
    "alice": {"ACME": 10, "GLOBEX": 5, "INITECH": 2},
    "bob": {"ACME": 1},
}
