"""Auto-approval policies: rules under which an ask is approved at submission, without an administrator."""
