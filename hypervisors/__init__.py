"""Hypervisor hosts, virtual machines and their images, built through libvirt."""
