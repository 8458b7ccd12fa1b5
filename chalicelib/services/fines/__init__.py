"""The fines ledger (R-FINE-1..5)."""
