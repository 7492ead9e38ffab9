"""Frame and duration math of a slideshow, kept free of pixels and PyAV so it can be tested on its own.

Contract relied on elsewhere: the video lasts `images * seconds_per_image`; image k owns
[k*spi, (k+1)*spi); the crossfade between k and k+1 is centred on their boundary; nothing fades at the very
start or end. Frame i shows time i / fps.
"""

from dataclasses import dataclass

MAX_ZOOM = 1.15


@dataclass(frozen=True)
class Layer:
    image: int
    weight: float  # share of this image in the frame; the weights of a frame sum to 1
    progress: float  # 0..1 through the time this image is on screen, drives its Ken Burns motion


@dataclass(frozen=True)
class Motion:
    zoom: float  # 1.0 shows the whole fitted image, MAX_ZOOM the tightest view
    anchor_x: float  # point of the frame (0..1) that stays put while zooming; off-centre, so it also pans
    anchor_y: float


@dataclass(frozen=True)
class Timeline:
    images: int
    seconds_per_image: float
    transition_seconds: float
    fps: int

    @property
    def frame_count(self) -> int:
        return round(self.images * self.seconds_per_image * self.fps)

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / self.fps

    def frame_at(self, seconds: float) -> int:
        # The epsilon keeps an exact time like 0.3 s at 10 fps on frame 3 despite float error.
        return min(self.frame_count - 1, max(0, int(seconds * self.fps + 1e-6)))

    def on_screen(self, image: int) -> tuple[float, float]:
        """Start and end time of an image, including the halves of its crossfades."""
        half = self.transition_seconds / 2
        start = image * self.seconds_per_image - (half if image > 0 else 0.0)
        end = (image + 1) * self.seconds_per_image + (half if image < self.images - 1 else 0.0)
        return start, end

    def layers(self, frame: int) -> list[Layer]:
        """The one or two images a frame shows, first the outgoing one."""
        t = frame / self.fps
        spi = self.seconds_per_image
        current = min(self.images - 1, int(t / spi + 1e-9))
        half = self.transition_seconds / 2
        if half > 0:
            boundary_next = (current + 1) * spi
            boundary_prev = current * spi
            if current + 1 < self.images and t >= boundary_next - half:
                alpha = (t - (boundary_next - half)) / self.transition_seconds
                return self._pair(current, current + 1, alpha, t)
            if current > 0 and t < boundary_prev + half:
                alpha = (t - (boundary_prev - half)) / self.transition_seconds
                return self._pair(current - 1, current, alpha, t)
        return [Layer(current, 1.0, self.progress(current, t))]

    def _pair(self, outgoing: int, incoming: int, alpha: float, t: float) -> list[Layer]:
        alpha = min(1.0, max(0.0, alpha))
        if alpha == 0.0:  # the first frame of a fade shows only the outgoing image; skip rendering the other
            return [Layer(outgoing, 1.0, self.progress(outgoing, t))]
        return [
            Layer(outgoing, 1.0 - alpha, self.progress(outgoing, t)),
            Layer(incoming, alpha, self.progress(incoming, t)),
        ]

    def progress(self, image: int, t: float) -> float:
        start, end = self.on_screen(image)
        return min(1.0, max(0.0, (t - start) / (end - start)))


def motion(image: int, progress: float) -> Motion:
    """Ken Burns move of an image: even images zoom in, odd ones zoom out.

    With the anchor left of centre, zooming in drifts the view left and zooming out drifts it right, so the
    pan direction alternates with the zoom; the vertical anchor changes every second image for variety.
    """
    zoom_in = image % 2 == 0
    amount = progress if zoom_in else 1.0 - progress
    anchor_y = 0.4 if (image // 2) % 2 == 0 else 0.6
    return Motion(zoom=1.0 + (MAX_ZOOM - 1.0) * amount, anchor_x=0.3, anchor_y=anchor_y)
