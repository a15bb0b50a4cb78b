"""Docker engines: reaching and probing them, loading images, and the reconcile that keeps rows true."""
