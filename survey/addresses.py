"""Client addresses as the counters see them: one phone, or one office, is one network."""

import ipaddress


def network_of(address: str) -> str:
    """What identifies a sender's network: an IPv4 address, or an IPv6 address's /64 prefix
    (one device may use any address of its /64, and many Chinese mobile networks are IPv6;
    counting single IPv6 addresses would let anyone step around a limit by changing the last
    64 bits)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))
