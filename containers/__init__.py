"""Docker engines ("Docker hosts") and the containers the portal runs on them."""
