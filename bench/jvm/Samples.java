import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Timings in nanoseconds: percentiles of one repeat, and medians of those percentiles over the repeats. */
final class Samples {
    private long[] nanos;
    private int size;

    /** Room for {@code capacity} samples made up front (more are taken, at the cost of a copy). */
    Samples(int capacity) {
        nanos = new long[Math.max(1, capacity)];
    }

    void add(long elapsedNanos) {
        if (size == nanos.length) {
            nanos = Arrays.copyOf(nanos, size * 2);
        }
        nanos[size++] = elapsedNanos;
    }

    /** p50, p99 and max of this repeat. */
    Percentiles percentiles() {
        if (size == 0) {
            throw new IllegalStateException("no samples");
        }
        long[] sorted = Arrays.copyOf(nanos, size);
        Arrays.sort(sorted);
        return new Percentiles(at(sorted, 0.50), at(sorted, 0.99), sorted[size - 1]);
    }

    private static long at(long[] sorted, double quantile) {
        return sorted[(int) Math.ceil(quantile * sorted.length) - 1];
    }

    record Percentiles(long p50, long p99, long max) {}

    /** One benchmark's percentiles over the repeats; what the table shows is their median. */
    static final class Repeats {
        private final List<Percentiles> runs = new ArrayList<>();

        void add(Percentiles percentiles) {
            runs.add(percentiles);
        }

        long p50() {
            return median(runs.stream().mapToLong(Percentiles::p50).toArray());
        }

        long p99() {
            return median(runs.stream().mapToLong(Percentiles::p99).toArray());
        }

        long max() {
            return median(runs.stream().mapToLong(Percentiles::max).toArray());
        }

        /** "p99 over the repeats: a / b / c", to show how much the runs disagree. */
        String p99Spread() {
            StringBuilder spread = new StringBuilder();
            for (Percentiles run : runs) {
                spread.append(spread.length() == 0 ? "" : " / ").append(human(run.p99()));
            }
            return spread.toString();
        }
    }

    static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(sorted.length - 1) / 2];
    }

    static long max(long[] values) {
        return Arrays.stream(values).max().orElseThrow();
    }

    /** Nanoseconds as µs below 1 ms, else ms, else s. */
    static String human(long nanos) {
        if (nanos < 1_000_000L) {
            return String.format("%.1f µs", nanos / 1e3);
        }
        if (nanos < 10_000_000_000L) {
            return String.format("%.2f ms", nanos / 1e6);
        }
        return String.format("%.1f s", nanos / 1e9);
    }
}
