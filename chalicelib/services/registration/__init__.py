"""Registering customers: the registrants' webhook, a consultant's registrations,
late approvals, a registrant's reads, and masked registrations resolved at the
visit (R-REG, R-DUP, R-PROT; decision 0013)."""
