"""Hypervisor hosts: probing, placement, the reconcile that keeps rows true, and the host pages."""
