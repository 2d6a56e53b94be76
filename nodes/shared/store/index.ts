export type {
	ObjectHead,
	ObjectStoreApi,
	ObjectStoreConfig,
	StoredObject,
	UploadOptions,
} from './types';
export {
	DEFAULT_PART_SIZE_BYTES,
	DEFAULT_QUEUE_SIZE,
	MAX_PRESIGN_SECONDS,
	MIN_PART_SIZE_BYTES,
	ObjectStore,
	ObjectStoreError,
	type ObjectStoreErrorDetails,
} from './objectStore';
export {
	assertRecordingSource,
	extensionForContentType,
	InvalidSourceError,
	RECORDING_SOURCES,
	recordingObjectKey,
	recordingObjectPrefix,
} from './keys';
