from django.urls import path

from participants import views

app_name = "participants"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.intake, name="intake"),
    path("assign/", views.assign, name="assign"),
    path("export.csv", views.export_csv, name="export"),
    path("participants/", views.participants, name="participants"),
    path("participants/<int:pk>/", views.participant, name="participant"),
    path("submissions/<int:pk>/", views.submission, name="submission"),
    path("submissions/<int:pk>/reveal/<str:field>/", views.reveal, name="reveal"),
    path("submissions/<int:pk>/retry/", views.retry, name="retry"),
    path("submissions/<int:pk>/docv-link/", views.docv_link, name="docv-link"),
    path("submissions/<int:pk>/duplicate/", views.review_duplicate, name="review-duplicate"),
    path("submissions/<int:pk>/notes/", views.add_note, name="add-note"),
    path("submissions/<int:pk>/adopt/", views.adopt_exchange_state, name="adopt"),
]
