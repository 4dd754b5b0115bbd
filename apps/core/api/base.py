"""The API's view base classes: DRF's, with the HTTP method checked first.

DRF authenticates, checks permissions and throttles before it looks for the handler of the
request's method, so ``TRACE /api/v1/ratings/{id}/`` from an anonymous client was a 401 and
a throttled client got a 429 for a method no view serves. The contract (and RFC 9110) says
405 with ``Allow``: the method is checked before anything else.
"""

from rest_framework import exceptions, generics, views


class MethodFirstMixin:
    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class APIView(MethodFirstMixin, views.APIView):
    pass


class GenericAPIView(MethodFirstMixin, generics.GenericAPIView):
    pass
