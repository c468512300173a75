"""Ids a device creates (PROTOCOL.md §2), for the tools written in Python: the same as the library's
CreatedId."""


def device_tag(client_id):
    """The low 48 bits of the 64-bit FNV-1a hash of the client id, as 12 lower-case hex digits."""
    value = 0xcbf29ce484222325
    for byte in client_id.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return format(value & 0xFFFFFFFFFFFF, "012x")


def created_id(random, client_id):
    """The id a device creates from a random lower-case UUID: version 8 and the device's tag."""
    digits = random.replace("-", "")
    free = (digits[0:12] + digits[13:16] + digits[17:32])[-18:]
    return f"{free[0:8]}-{free[8:12]}-8{free[12:15]}-{digits[16]}{free[15:18]}-{device_tag(client_id)}"
