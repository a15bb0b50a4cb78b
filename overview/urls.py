"""Routes of the cross-app pages."""

from django.urls import path

from overview import views

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("networks/", views.NetworkOverviewView.as_view(), name="networks"),
]
