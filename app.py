"""imgstore: routes and S3 event handlers. Wiring only; the logic is in chalicelib."""
from chalice import Chalice

from chalicelib import config, http, validation
from chalicelib.ingest import ImageProcessor
from chalicelib.service import ImageService

app = Chalice(app_name="imgstore")
app.api.binary_types.extend(http.EXTRA_BINARY_TYPES)
app.register_middleware(http.json_errors, "http")


@app.route("/health", methods=["GET"])
def health():
    return {"status": "ok"}


@app.route("/images", methods=["POST"], content_types=http.UPLOAD_TYPES)
def upload_image():
    images = ImageService.from_environment()
    record = images.upload(http.upload_from(app.current_request, images.settings))
    return http.created(app.current_request, record.to_api(), f"/images/{record.image_id}")


@app.route("/uploads", methods=["POST"], content_types=[http.JSON])
def create_upload():
    images = ImageService.from_environment()
    answer = images.presign_upload(validation.presigned_upload(app.current_request.raw_body, images.settings))
    return http.created(app.current_request, answer, f"/images/{answer['image_id']}")


@app.route("/images", methods=["GET"])
def list_images():
    return ImageService.from_environment().list(validation.list_query(http.params(app.current_request)))


@app.route("/images/{image_id}", methods=["GET"])
def get_image(image_id):
    download = validation.flag(http.params(app.current_request).get("download"), "download")
    return ImageService.from_environment().get(image_id, download=download)


@app.route("/images/{image_id}/file", methods=["GET"])
def get_image_file(image_id):
    images = ImageService.from_environment()
    variant = validation.variant_name(http.params(app.current_request).get("variant"), images.settings)
    return http.redirect(images.file_url(image_id, variant))


@app.route("/images/{image_id}", methods=["PATCH"], content_types=[http.JSON])
def update_image(image_id):
    changes = validation.update(app.current_request.raw_body)
    return ImageService.from_environment().update(image_id, changes).to_api()


@app.route("/images/{image_id}/reprocess", methods=["POST"])
def reprocess_image(image_id):
    record = ImageService.from_environment().reprocess(image_id)
    return http.accepted({"message": "the variants are being made again", "image": record.to_api()})


@app.route("/images/{image_id}", methods=["DELETE"])
def delete_image(image_id):
    ImageService.from_environment().delete(image_id)
    return {"message": "image deleted", "image_id": image_id}


@app.on_s3_event(bucket=config.trigger_bucket(), prefix="uploads/", events=["s3:ObjectCreated:*"])
def on_upload(event):
    outcome = ImageProcessor.from_environment().ingest(event.bucket, event.key)
    app.log.info("ingest %s: %s", event.key, outcome)


@app.on_s3_event(bucket=config.trigger_bucket(), prefix="uploads/", events=["s3:ObjectRemoved:*"])
def on_delete(event):
    outcome = ImageProcessor.from_environment().forget(event.bucket, event.key)
    app.log.info("forget %s: %s", event.key, outcome)
