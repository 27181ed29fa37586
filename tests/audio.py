"""Test recordings made on the spot with PyAV (no binary fixtures in the repository)."""

import io
import math
import struct

import av


def tone(
    fmt: str = "wav", seconds: float = 3.0, rate: int = 22050, layout: str = "stereo"
) -> bytes:
    """A 440 Hz sine tone as an audio file: ``wav`` (PCM), ``webm`` or ``ogg`` (Opus, as
    Chrome's MediaRecorder saves), ``mp3``. Kept under 500 KB by default: the test client
    spools a larger body to a temporary file it never closes (a ResourceWarning)."""
    codec = {"wav": "pcm_s16le", "webm": "libopus", "ogg": "libopus", "mp3": "mp3"}[fmt]
    if codec == "libopus":
        rate = 48000
    channels = 2 if layout == "stereo" else 1
    n = int(rate * seconds)
    pcm = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) * channels
        for i in range(n)
    )
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame(format="s16", layout=layout, samples=n)
        frame.planes[0].update(pcm)
        frame.rate, frame.pts = rate, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def describe(data: bytes) -> dict:
    """What a stored recording is: container, codec, channels, bit rate, seconds."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return {
            "container": container.format.name,
            "codec": stream.codec_context.name,
            "channels": stream.codec_context.layout.nb_channels,
            "bit_rate": stream.bit_rate or container.bit_rate,
            "seconds": container.duration / 1_000_000,
        }
