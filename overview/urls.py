"""Routes of the cross-app pages."""

from django.urls import path

from overview import comparison_views, views

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("compare/", comparison_views.ComparisonView.as_view(), name="comparison"),
    path("compare/hint/", comparison_views.ComparisonHintView.as_view(), name="comparison-hint"),
    path("networks/", views.NetworkOverviewView.as_view(), name="networks"),
]
