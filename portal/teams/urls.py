"""Routes of the team pages."""

from django.urls import path

from portal.teams import views

urlpatterns = [
    path("<slug:slug>/", views.TeamDetailView.as_view(), name="team-detail"),
    path("<slug:slug>/members/", views.MemberAddView.as_view(), name="team-member-add"),
    path("<slug:slug>/members/<int:pk>/role/", views.MemberRoleView.as_view(), name="team-member-role"),
    path("<slug:slug>/members/<int:pk>/remove/", views.MemberRemoveView.as_view(), name="team-member-remove"),
    path("<slug:slug>/quota/", views.QuotaChangeRequestView.as_view(), name="team-quota-change"),
]
