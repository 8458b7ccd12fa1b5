"""Use cases: load state, ask the rules, commit one write, answer."""
