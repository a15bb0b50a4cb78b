"""Helpers the tests share: pages and posts, rows and usage, the libvirt test driver, and the real stack."""
