# Production image: compiled JavaScript, production dependencies only, unprivileged user.
# The embedded Postgres is for development; in a container set DATABASE_URL (see docker-compose.yml).
# The image starts with an empty service registry and no static users: mount your service
# definitions on /app/services (or POST them to /cas/actuator/registeredServices) and set
# CAS_AUTHN_ACCEPT_USERS or add users with the users CLI. The open development registry (dev/)
# is excluded from the build context (.dockerignore) and never loaded with DATABASE_URL set.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY services ./services
USER node
EXPOSE 8080
# --max-semi-space-size=8 --max-old-space-size=1024: as npm start (docs/benchmarks.md, "Measurements behind design choices").
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=1024", "dist/src/main.js"]
