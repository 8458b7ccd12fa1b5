"""Who acts: staff and their tokens, Party A's registrants, brokers and staff,
and a consultant's own customers."""
