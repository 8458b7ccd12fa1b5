"""Time and its work (R-PROT-2, R-REG-3, R-RECLAIM-1): the sweep, the monthly
reclaim, the pool, deals, the duplicate watch and the idempotency stream."""
