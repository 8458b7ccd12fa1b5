"""The sales office floor (R-FLOOR): arrivals, 判客, sign-ins, the rotation,
forms, lookups and the daily channel report."""
