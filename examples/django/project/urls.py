from django.urls import path

from hooks.views import receive_webhook

urlpatterns = [path("hooks", receive_webhook)]
