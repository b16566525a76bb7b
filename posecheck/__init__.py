"""posecheck: measure hip rotation and stretch holds from a webcam or a video, offline.

Pipeline: ``source -> pose -> geometry -> filter -> holds -> outputs``.

Only :mod:`posecheck.pose` imports mediapipe. :mod:`posecheck.geometry`,
:mod:`posecheck.filters` and :mod:`posecheck.holds` are pure (numpy only) and take time
as an argument, so a replayed landmark file gives exactly the numbers of the live run.
"""

__version__ = "0.1.0"
