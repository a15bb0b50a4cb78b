"""The REST API of the hypervisors app: VMs and their actions, VM networks, hosts, images."""
