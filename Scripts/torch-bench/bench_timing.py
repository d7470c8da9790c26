"""What the eager benchmark scripts share (tte_resnet18.py, medform_step.py): the median seconds of a training step."""
import statistics, time


def median_step_seconds(step, warmup, steps):
    """Runs `step` warmup + steps times and returns the median wall seconds of the last `steps` runs."""
    seconds = []
    for index in range(warmup + steps):
        start = time.perf_counter()
        step()
        if index >= warmup:
            seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)
