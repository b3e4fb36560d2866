"""The field names of every model of the Lightly API (wire names, from the 1.4.10 models
listed in ``lightly-api/MODELS.md``; ``tests/client/test_models.py`` compares them when
that file is at hand).

``WireModel`` reads an absent field among them as None, as the official models do,
and refuses any other name: a misspelt attribute must not pass as "not set".
"""

from __future__ import annotations

_NAMES = """
    accessRole accessType accountKey accountName added arithmetics artifactId artifacts
    batchSize bbox bitMaskData bypassVerify canList canOverwrite canRead canWrite
    categories categoryId changes checkpoint checkpointCallback cjBright cjContrast
    cjHue cjProb cjSat code collate config configId configOrig configs
    coordinatesDimension1 coordinatesDimension2 corruptionThreshold corruptnessCheck
    count createdAt creator criterion cropData cropDatasetId cropSampleId cursor custom
    customMetaData data datasetId datasource datasourceProcessedUntilTimestamp
    datasources defaultValue dimensionalityReductionMethod docker dockerVersion dropLast
    dynamic embeddingId embeddings enableDatapoolUpdate enableTraining error errorLabels
    errors exif externalId fileName finishedAt from full fullPath gaussianBlur
    gcsCredentials gcsProjectId global_key gpus hasMore hfProb id image imageUrl imgType
    index initial input inputSize is2d isProcessed isRegistered jobId jobType kernelSize
    key keypoints labels lastModifiedAt level licenseExpirationDate lightly
    lightlyFileName lightlyMetaInfo loader logs lr luminance maxEpochs mean media_type
    message meta metaData metadata metaDataConfigurationId method minDistance minScale
    model msg name newTagName normalizeEmbeddings nSamples numFtrs numProcesses
    numThreads numWorkers obsAccessKeyId obsEndpoint obsSecretAccessKey operation
    optimizer originalDatasetId outDim outputImageFormat owner parentDatasetId parentId
    path precision predictionIndex predictionTaskCategoryId predictionTaskName
    predictionTaskScore predictionUUIDTimestamp preselectedTagId pretagging
    pretaggingUpload prevTagId priority probabilities processAll processed
    processedUntilTimestamp proportionSamples purpose queryTagId randomGrayScale
    randomSeed readUrl relevantFilenamesFile removed rename requestId reserve_for result
    row_data rowCount rrDegrees rrProb runId runsOn s3AccessKeyId s3ARN s3ExternalId
    s3Region s3SecretAccessKey s3ServerSideEncryptionKMSKey sampler samples
    sampleWriteUrls saveLast scatterplot scheduledId score scores scoreType seed
    segmentation selectedSequenceLength selection shape sharpness shuffle sigmas
    signedWriteUrl sizeInBytes snr sourceVideo sourceVideoFrameIndex
    sourceVideoFrameTimestamp state status std stopping_condition_minimum_distance
    stoppingCondition storageLocation strategies strategy sumOfSquares sumOfValues tag1
    tag2 tagId1 tagId2 tagName target task taskName teams temperature
    threshold thumb thumbName thumbSuffix to total totSize trainer training ts type
    uniformRowRatio updateCreator uploadMethod uploadReport upsize upsizeTagCreator
    upsizeTagName url userId users validUntil valueDataType version vfProb
    videoFrameData view waitTimeTillNextPoll weightDecay width workerType
"""
WIRE_FIELDS = frozenset(_NAMES.split())
