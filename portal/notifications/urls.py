"""Routes of a user's notifications (mounted under ``notifications/``)."""

from django.urls import path

from portal.notifications import views

urlpatterns = [
    path("", views.NotificationListView.as_view(), name="notification-list"),
    path("unread/", views.UnreadBadgeView.as_view(), name="notification-unread"),
    path("read/", views.NotificationReadAllView.as_view(), name="notification-read-all"),
    path("<int:pk>/read/", views.NotificationReadView.as_view(), name="notification-read"),
]
