# segmatch in a container: a static binary on distroless, run as non-root.
#
#   docker build -t segmatch .
#   docker run --rm -i -v "$PWD:/work" -w /work segmatch classify leads.jsonl --segments segments.json
#   docker run --rm -p 8080:8080 -v segmatch-data:/home/nonroot segmatch \
#       serve --addr :8080 --data /home/nonroot/segmatch.db --users /home/nonroot/users.json
#
# Docker is not available where this was written: cmd/segmatch's
# TestDockerfileBuild runs the go build line below with exactly its flags
# and environment (parsed from this file) and runs the binary's `version`.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags='-s -w' -o /out/segmatch ./cmd/segmatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/segmatch /usr/local/bin/segmatch
USER nonroot:nonroot
WORKDIR /home/nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/segmatch"]
CMD ["help"]
