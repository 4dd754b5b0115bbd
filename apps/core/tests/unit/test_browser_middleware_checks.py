from apps.core.checks import browser_middleware_check


def test_the_browser_only_csrf_and_clickjacking_middleware_satisfy_the_deploy_check():
    assert browser_middleware_check(None) == []


def test_a_middleware_list_without_csrf_or_clickjacking_protection_fails_the_deploy_check(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m and "XFrame" not in m]

    assert sorted(w.id for w in browser_middleware_check(None)) == ["core.W002", "core.W003"]


def test_djangos_own_classes_satisfy_it_too(settings):
    settings.MIDDLEWARE = [
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]

    assert browser_middleware_check(None) == []
