# syntax=docker/dockerfile:1
# aimabot: one static binary on distroless, run as a non-root user.
#
#   docker build -t aimabot .
#   docker run -e TELEGRAM_BOT_TOKEN=... -v aimabot-data:/data aimabot
#
# Build arguments VERSION, COMMIT and DATE name the build when the source
# has no .git (a tarball): `aimabot version` prints them.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildTime=${DATE}" \
      -o /out/aimabot ./cmd/aimabot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aimabot /aimabot
# An empty /data owned by the user the bot runs as: a new volume takes it.
COPY --from=build --chown=65532:65532 /out/data /data
# The embedded store (bbolt) lives here unless REDIS_URL is set.
ENV AIMABOT_DATA=/data \
    LISTEN_ADDR=:8080
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
# The binary checks itself: /readyz on its own listener.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/aimabot", "healthcheck"]
ENTRYPOINT ["/aimabot"]
CMD ["serve"]
