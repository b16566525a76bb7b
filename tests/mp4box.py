"""Read an MP4 file's video codec from its boxes (no FFmpeg): which codec did we write?"""

from __future__ import annotations

from pathlib import Path

#: Video sample entries of MP4 that Chromium plays (H.264, VP9, AV1); not mp4v (MPEG-4 part 2).
CHROMIUM_PLAYS = {"avc1", "avc3", "vp09", "av01"}


def mp4_video_codec(path: Path) -> str:
    """The sample entry type of the first video track (moov/trak/mdia/minf/stbl/stsd) of an
    MP4 file, parsed from its boxes (no FFmpeg involved): "avc1" is H.264, "mp4v" MPEG-4."""
    data = path.read_bytes()

    def boxes(start: int, end: int) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        i = start
        while i + 8 <= end:
            size = int.from_bytes(data[i:i + 4], "big")
            kind = data[i + 4:i + 8].decode("latin-1")
            head = 8
            if size == 1:
                size, head = int.from_bytes(data[i + 8:i + 16], "big"), 16
            elif size == 0:
                size = end - i
            out.setdefault(kind, (i + head, i + size))
            i += size
        return out

    trak = boxes(*boxes(0, len(data))["moov"])["trak"]  # our videos have one track
    stbl = boxes(*boxes(*boxes(*boxes(*trak)["mdia"])["minf"])["stbl"])
    entries = stbl["stsd"][0] + 8  # after version/flags (4) and the entry count (4)
    return data[entries + 4:entries + 8].decode("latin-1")  # entry: size (4), type (4)
