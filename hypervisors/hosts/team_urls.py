"""Routes of the hypervisor pages that hang under a team (mounted under /teams/)."""

from django.urls import path

from hypervisors.hosts import top_views

urlpatterns = [
    path("<slug:slug>/top/", top_views.TeamTopView.as_view(), name="team-top"),
]
