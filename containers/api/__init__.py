"""The REST API of the containers app: containers and their actions, container networks, images."""
