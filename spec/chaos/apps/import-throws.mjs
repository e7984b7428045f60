/** An app whose module throws while it is imported (a missing environment variable, say). */
throw new Error('DATABASE_URL is not set')
