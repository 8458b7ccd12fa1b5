"""Registering customers: the registrants' webhook, a consultant's registrations,
late approvals, a registrant's reads, and the day's counts (R-REG, R-DUP, R-PROT)."""
