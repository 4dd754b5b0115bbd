"""The summary means are memoized: the memo must answer exactly what the arithmetic does."""

from apps.core.statistics import bayesian_mean_2dp, mean_2dp


def test_memoized_means_equal_the_arithmetic():
    for count in range(40):
        for total in range(count, 5 * count + 1):
            assert mean_2dp(total=total, count=count) == mean_2dp.__wrapped__(total=total, count=count)
            for prior_mean, prior_weight in ((3.5, 10), (0.0, 0), (4.25, 3)):
                arguments = {"total": total, "count": count, "prior_mean": prior_mean, "prior_weight": prior_weight}
                assert bayesian_mean_2dp(**arguments) == bayesian_mean_2dp.__wrapped__(**arguments)
    assert mean_2dp(total=0, count=0) is None
    assert mean_2dp(total=2675, count=1000) == 2.68


def test_the_memo_is_bounded():
    for count in range(1, 3000):
        mean_2dp(total=count * 3, count=count + 1)
        bayesian_mean_2dp(total=count * 3, count=count + 1, prior_mean=3.5, prior_weight=10)
    assert mean_2dp.cache_info().currsize <= mean_2dp.cache_info().maxsize
    assert bayesian_mean_2dp.cache_info().currsize <= bayesian_mean_2dp.cache_info().maxsize
